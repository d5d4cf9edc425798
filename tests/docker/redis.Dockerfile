# Redis from Debian's redis-server, for the live compose test on machines that reach no image
# registry (REDIS_IMAGE=dcoprover-test-redis:7 in place of the official redis:7.0-bookworm).
# The compose file gives the command; the healthcheck's redis-cli comes with the package.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /data
VOLUME ["/data"]
CMD ["redis-server", "--protected-mode", "no"]
