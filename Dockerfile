# The gateway image: `gateway serve`, `gateway sim NAME`, `gateway audit verify`, … (the CLI).
# The configuration folder (with keys/gateway.pem) is mounted at /config, never baked in.
FROM python:3.11-slim-bookworm

# libsodium: Ed25519 through PyNaCl's bundled copy needs nothing more; curl for health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --home-dir /srv/gateway gateway
WORKDIR /srv/gateway
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
COPY schemas ./schemas
RUN pip install --no-cache-dir .

USER gateway
ENV GATEWAY_CONFIG=/config PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["gateway"]
CMD ["serve", "--config", "/config"]
