//! The executor: plays, hosts, tasks, handlers and facts.
