//! The DynamoDB store (work in progress).
