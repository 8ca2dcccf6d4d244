"""Static files storage for production: hashed names, compressed copies, and hashed imports inside ES modules."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class FrontendStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Also rewrites `import ... from "./api.js";` to the hashed file, so that after an upgrade a browser never
    runs a new main.js against a module it cached from the old release (or the other way round)."""

    support_js_module_import_aggregation = True
