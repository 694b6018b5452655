//! The permissions client carries a consistency to the service, over real sockets: two instances
//! of the permissions service over one DynamoDB table (dynalite), each with its default cache, a
//! write through one and the client's reads and decisions through the other.

use clearance_core::client::{ClientConfig, PermissionsClient};
use clearance_core::consistency::Consistency;
use clearance_core::domain::{CompanyId, RoleRequirement, UserId};
use serde_json::json;

use crate::support::{json_of, two_instances};

const USER: &str = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10";

#[tokio::test]
async fn check_and_get_user_carry_the_consistency_to_another_instance() {
    // Arrange: a Manager of 1111, cached by instance B.
    let (_dynalite, _name, instance_a, instance_b) = two_instances(USER).await;
    let client = PermissionsClient::new(ClientConfig::new(&instance_b.url()).unwrap()).unwrap();
    let user = UserId::parse(USER).unwrap();
    let company = CompanyId::parse("1111").unwrap();
    let manager = RoleRequirement::AtLeast("Manager".into());
    let check = |consistency| client.check(&user, Some(&company), Some(&manager), consistency);
    assert!(check(Consistency::MinimizeLatency).await.unwrap().allowed);

    // Act: downgrade the Manager through instance A; B's cache still holds version 1.
    let changed = json_of(
        reqwest::Client::new()
            .patch(format!("{}/users/{USER}", instance_a.url()))
            .json(&json!({"role": "Standard"})),
    )
    .await;
    let version = changed["version"].as_u64().unwrap();
    assert_eq!(version, 2);

    // Assert: the default answers from B's cache; a version or a fully consistent read sees the
    // change at once.
    let cached = check(Consistency::MinimizeLatency).await.unwrap();
    assert!(cached.allowed, "B's cache answers the default: {cached:?}");
    let full = check(Consistency::Full).await.unwrap();
    assert!(!full.allowed);
    assert_eq!(full.code, "role-below-required");
    let at_least = check(Consistency::AtLeast(version)).await.unwrap();
    assert!(!at_least.allowed);
    assert_eq!(at_least.code, "role-below-required");
    let read = client
        .get_user_at(&user, Consistency::AtLeast(version))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.version, read.role.as_str()), (2, "Standard"));
}
