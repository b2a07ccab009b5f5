//! Playbooks: the model, the loader with spans, and validation.
