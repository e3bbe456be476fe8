# syntax=docker/dockerfile:1.4
# Buttock and hip pain decision support: a two-stage image.
#   build:   compiles durable-rules' C engine into a virtualenv (needs a compiler)
#   runtime: the virtualenv and the app only; no compiler, non-root, read-only friendly
# BASE_IMAGE must provide python3 (>= 3.11) with venv; the default is the official slim image.
# Supply chain: third-party packages come only from requirements.lock, each checked against
# its hashes (make lock writes it); the base image is pinned by digest where the registry is
# reachable — resolve the tag once and build with the result, e.g.
#   digest="$(skopeo inspect --format '{{.Digest}}' docker://docker.io/library/python:3.11-slim-bookworm)"
#   podman build --build-arg BASE_IMAGE="docker.io/library/python:3.11-slim-bookworm@${digest}" .
# (or write that reference into the ARG below; Renovate/Dependabot keep such pins current).
# Behind a TLS-inspecting proxy, pass its CA bundle as a build secret (never baked in):
#   podman build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
SHELL ["/bin/sh", "-eu", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# gcc for durable-rules; Python headers only where the base has none (Debian's python3).
# DL3008: packages follow the base image's Debian release (security fixes included);
# pinned versions would break the build whenever the mirror moves on.
# SC2086: ${headers} is deliberately unquoted so that an empty value adds no argument.
# hadolint ignore=DL3008,SC2086
RUN apt-get update \
 && headers="$(python3 -c 'import os, sysconfig; print("" if os.path.exists(sysconfig.get_paths()["include"] + "/Python.h") else "python3-dev")')" \
 && apt-get install -y --no-install-recommends gcc libc6-dev ${headers} \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY service ./service
COPY third_party ./third_party
# Dependencies: exactly the locked versions, every file hash-checked, none fetched unchecked
# (no build isolation: builds use the venv's own locked setuptools), except durable-rules:
# it is built once, from its locked sdist (the sha256 checked against requirements.lock),
# with per-session tables sized for one record (third_party/durable_rules/build.py says why
# and what changes); its version 2.0.28+cds.2 satisfies the lock's ==2.0.28. Then the
# project itself, from this source, with nothing from the index.
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && awk '/^durable-rules==/{skip=1; next} skip && /^[[:space:]]+--hash/{next} {skip=0; print}' \
        requirements.lock > /tmp/requirements-but-durable-rules.txt \
 && /opt/venv/bin/pip install --no-compile --require-hashes --no-deps --no-build-isolation \
        -r /tmp/requirements-but-durable-rules.txt \
 && /opt/venv/bin/python third_party/durable_rules/build.py --out /tmp/wheels \
 && /opt/venv/bin/pip install --no-compile --no-deps --no-index /tmp/wheels/durable_rules-*.whl \
 && /opt/venv/bin/pip install --no-compile --no-deps --no-build-isolation --no-index . \
 && rm -rf /tmp/wheels /tmp/requirements-but-durable-rules.txt \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/python -c "import importlib.metadata as m, durable.engine; assert m.version('durable-rules').endswith('+cds.2')"

FROM ${BASE_IMAGE} AS runtime
ARG VERSION=1.0.0
LABEL org.opencontainers.image.title="buttock-pain-cds" \
      org.opencontainers.image.description="Decision support for buttock and hip pain, including pain in pregnancy" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://example.invalid/buttock-pain-cds" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RULES_DIR=/app/rules \
    HOST=0.0.0.0 \
    PORT=8080
RUN groupadd --system --gid 10001 cds \
 && useradd --system --uid 10001 --gid cds --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cds
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY rules ./rules
COPY deploy/gunicorn.conf.py ./gunicorn.conf.py
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=2)"]
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "service.wsgi:app"]
