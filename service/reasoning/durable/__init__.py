"""The durable_rules implementation of the rule-engine seam: facts, compiler and driver."""
