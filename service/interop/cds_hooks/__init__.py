"""HL7 CDS Hooks 2.0: the service's discovery entry, request schemas, cards and JWT checks."""
