# The policy server without a GPU: `prover serve-policy --backend transformers` (CPU torch).
# For GPUs the compose file uses vLLM's own image instead.
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY prover prover
COPY search search
COPY api api
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu '.[gpu]'
VOLUME ["/models"]
ENTRYPOINT ["prover"]
CMD ["serve-policy", "--help"]
