# The Lean search image: elan, the pinned Lean toolchain, the Lean REPL at the matching tag and
# miniF2F-lean4 with Mathlib built (all by scripts/setup_lean.sh, versions from
# search/env/lean_versions.env), plus dcoprover. Large (~10 GB): Mathlib's build is in it.
# Runs `prover worker --prover lean` with the service, or `prover eval --prover lean` alone.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      git curl ca-certificates python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The Lean layer first: it only changes when the pins or the setup script change.
COPY search/env/lean_versions.env search/env/lean_versions.env
COPY scripts/setup_lean.sh scripts/setup_lean.sh
RUN bash scripts/setup_lean.sh /opt/lean
ENV PATH=/opt/lean/bin:/root/.elan/bin:$PATH \
    DCOPROVER_CACHE=/cache \
    DCOPROVER_LEAN_PROJECT=/opt/lean/miniF2F-lean4
COPY pyproject.toml README.md ./
COPY prover prover
COPY search search
COPY api api
# An extra CA for pip behind a TLS-inspecting proxy, as a build secret (docs/docker.md).
RUN --mount=type=secret,id=ca \
    python3 -m venv /venv \
 && if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && /venv/bin/pip install --no-cache-dir '.[leandojo]'
ENV PATH=/venv/bin:$PATH
VOLUME ["/cache", "/results"]
WORKDIR /opt/lean/miniF2F-lean4
ENTRYPOINT ["prover"]
CMD ["doctor", "--lean-project", "/opt/lean/miniF2F-lean4"]
