# The Coq search image: Debian's Coq 8.16 with the libraries MiniF2F-Coq uses, csdp (the
# solver behind `psatz`), and dcoprover.
# Runs `prover eval` / `prover prove` (and, with the service, `prover worker --prover coq`).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      coq libcoq-stdlib libcoq-coquelicot libcoq-hammer coinor-csdp python3 python3-venv \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY prover prover
COPY search search
COPY api api
# An extra CA for pip (a TLS-inspecting proxy), as a build secret so that it stays out of the
# image: docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt ... (see
# docs/docker.md). Without the secret pip uses its own bundle.
RUN --mount=type=secret,id=ca \
    python3 -m venv /venv \
 && if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && /venv/bin/pip install --no-cache-dir .
ENV PATH=/venv/bin:$PATH DCOPROVER_CACHE=/cache
VOLUME ["/cache", "/results"]
ENTRYPOINT ["prover"]
CMD ["--help"]
