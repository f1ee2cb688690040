# stek web application (issue 17 item 6). Build: docker build -t stek .
# Run behind a TLS-terminating reverse proxy; see docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STEK_LOG_FORMAT=json \
    STEK_TRUSTED_PROXIES=127.0.0.1

WORKDIR /opt/stek
COPY pyproject.toml README.md LICENSE ./
COPY matcher ./matcher
COPY supply ./supply
COPY store ./store
COPY api ./api
COPY maps ./maps
COPY fixtures ./fixtures
RUN pip install . \
    && groupadd --system stek \
    && useradd --system --gid stek --home-dir /opt/stek --shell /usr/sbin/nologin stek \
    && mkdir -p /opt/stek/var \
    && chown stek:stek /opt/stek/var

USER stek
EXPOSE 8000

# --proxy-headers: the scheme (https) and client come from X-Forwarded-* of the trusted proxy
# only, so the session cookie is Secure behind TLS. Set STEK_TRUSTED_PROXIES to the proxy.
CMD ["sh", "-c", "exec stek serve --host 0.0.0.0 --port 8000 --proxy-headers --forwarded-allow-ips \"$STEK_TRUSTED_PROXIES\""]
