//! Reporters: how results are shown (human console output, JSON events).
