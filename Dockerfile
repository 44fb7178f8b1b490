# The Vouch application image, used by compose.yaml for the app replicas and the worker.
#
#   docker build -t vouch .
#   docker run --rm -e VOUCH_DATA_DIR=/data -p 8000:8000 vouch
#
# One stage: `pip install .` builds the wheel from pyproject.toml and installs it with its
# dependencies; the source tree is not kept in the image. The process runs as an
# unprivileged user that owns only /data (the blob volume mount point).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gnupg: signing/ verifies detached GPG signatures with the real gpg binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gnupg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# README.md is the project's `readme` in pyproject.toml: the build fails without it.
COPY pyproject.toml README.md ./
COPY app ./app
COPY signing ./signing
COPY advisories ./advisories
COPY search ./search
COPY versions ./versions
COPY client ./client
RUN pip install . && rm -rf /src

# Non-root: a fixed uid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 vouch \
    && useradd --system --uid 10001 --gid vouch --home-dir /home/vouch --create-home vouch \
    && mkdir -p /data \
    && chown vouch:vouch /data
# A fresh named volume mounted at /data copies this directory's ownership.
VOLUME ["/data"]

USER vouch
WORKDIR /home/vouch
ENV VOUCH_DATA_DIR=/data

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]

CMD ["vouch", "serve", "--host", "0.0.0.0", "--port", "8000"]
