# The policy server without a GPU: `prover serve-policy --backend transformers` (CPU torch).
# For GPUs the compose file uses vLLM's own image instead.
# Debian's Python 3.11, as in the Coq image (one base image for all of ours).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY prover prover
COPY search search
COPY api api
# An extra CA for pip behind a TLS-inspecting proxy, as a build secret (docs/docker.md).
RUN --mount=type=secret,id=ca \
    python3 -m venv /venv \
 && if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && /venv/bin/pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu '.[gpu]'
ENV PATH=/venv/bin:$PATH
VOLUME ["/models"]
ENTRYPOINT ["prover"]
CMD ["serve-policy", "--help"]
