//! Orders and the in-memory book that holds them.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// One order, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order's id (`ord-1`, `ord-2`, ...).
    pub id: String,
    /// The company it was placed for.
    pub company_id: String,
    /// Who placed it (their permissions id: a user's `sub`, or a machine client's id).
    pub placed_by: String,
    /// What was ordered.
    pub item: String,
    /// How many.
    pub quantity: u32,
}

/// What `POST /companies/{company_id}/orders` takes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrder {
    /// What to order: 1-200 characters.
    pub item: String,
    /// How many: 1-10,000.
    pub quantity: u32,
}

impl NewOrder {
    /// Checks the rules, naming the field that broke one.
    pub fn validate(&self) -> Result<(), String> {
        let item = self.item.trim();
        if item.is_empty() || item.chars().count() > 200 {
            return Err("item: must be 1-200 characters".into());
        }
        if !(1..=10_000).contains(&self.quantity) {
            return Err("quantity: must be between 1 and 10000".into());
        }
        Ok(())
    }
}

/// Every order, in memory. Cheap to clone (shared).
///
/// A std `RwLock` rather than an async one: it is held for a few instructions and never across an
/// `.await`.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    orders: Arc<RwLock<Vec<Order>>>,
}

impl OrderBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Places an order for `company_id` on behalf of `placed_by`.
    pub fn place(&self, company_id: &str, placed_by: &str, new: NewOrder) -> Order {
        let mut orders = self.orders.write().unwrap_or_else(|e| e.into_inner());
        let order = Order {
            id: format!("ord-{}", orders.len() + 1),
            company_id: company_id.to_owned(),
            placed_by: placed_by.to_owned(),
            item: new.item.trim().to_owned(),
            quantity: new.quantity,
        };
        orders.push(order.clone());
        order
    }

    /// The company's orders, oldest first.
    pub fn for_company(&self, company_id: &str) -> Vec<Order> {
        let orders = self.orders.read().unwrap_or_else(|e| e.into_inner());
        orders
            .iter()
            .filter(|o| o.company_id == company_id)
            .cloned()
            .collect()
    }

    /// The order `id` if `user_id` placed it.
    pub fn placed_by(&self, user_id: &str, id: &str) -> Option<Order> {
        let orders = self.orders.read().unwrap_or_else(|e| e.into_inner());
        orders
            .iter()
            .find(|o| o.id == id && o.placed_by == user_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_found_by_company_and_by_who_placed_them() {
        let book = OrderBook::new();
        let order = book.place(
            "1111",
            "u1",
            NewOrder {
                item: "paper".into(),
                quantity: 2,
            },
        );
        assert_eq!(order.id, "ord-1");
        assert_eq!(book.for_company("1111"), std::slice::from_ref(&order));
        assert!(book.for_company("2222").is_empty());
        assert_eq!(book.placed_by("u1", "ord-1"), Some(order));
        assert_eq!(book.placed_by("u2", "ord-1"), None);
    }

    #[test]
    fn new_orders_are_validated() {
        assert!(
            NewOrder {
                item: " ".into(),
                quantity: 1
            }
            .validate()
            .is_err()
        );
        assert!(
            NewOrder {
                item: "x".into(),
                quantity: 0
            }
            .validate()
            .is_err()
        );
        assert!(
            NewOrder {
                item: "x".into(),
                quantity: 1
            }
            .validate()
            .is_ok()
        );
    }
}
