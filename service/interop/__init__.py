"""Healthcare formats: FHIR R4 intake and resources, CDS Hooks 2.0 requests, cards and tokens.

No Flask here: the web layer reads HTTP and hands these modules plain data.
"""
