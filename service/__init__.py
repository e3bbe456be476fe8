"""Clinical decision support for buttock and hip pain, including pain in pregnancy.

Importing the package loads nothing: the app is built by :func:`service.app.create_app`
and served by ``service.wsgi:app``. Layers, each importing only those after it:
``app`` → ``web`` → ``interop`` → ``reasoning`` → ``knowledge`` → the leaf modules
(``settings``, ``vocabulary``, ``validation``, ``metrics``, ``logs``).
"""
