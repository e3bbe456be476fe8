"""HTTP: the only package that imports Flask, werkzeug or apispec.

Views read requests, call the reasoning and interop layers, and write responses; the
OpenAPI document is generated here from the same schemas that validate.
"""
