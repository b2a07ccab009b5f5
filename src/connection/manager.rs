//! Hands out one connection per host, opened on first use and reused.
