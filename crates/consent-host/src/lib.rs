//! Reference host backend (built in the backend issue).
