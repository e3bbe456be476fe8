"""FHIR R4: the intake Questionnaire and CodeSystem we publish, and FHIR data → a record."""
