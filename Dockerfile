FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client-15 gdal-bin nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e . \
    && if [ -f web/package.json ]; then cd web && npm ci --no-audit --no-fund && npm run build; fi
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "citygrid db migrate && citygrid demo load --if-empty && citygrid serve"]
