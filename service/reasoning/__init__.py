"""From a validated symptom record to an :class:`~service.reasoning.assessment.Assessment`.

No Flask and no FHIR here. ``durable/`` is the only code that imports durable_rules; the
rest reads fired rule ids through the :class:`~service.reasoning.engine.RuleEngine` seam.
"""
