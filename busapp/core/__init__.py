"""Infrastructure every feature uses: settings, extensions, language, errors, security headers, page cache, rate
limits, static URLs, htmx, CSV writer, QR codes, ticket signatures, translated texts, the town profile. It imports no
feature (ARCHITECTURE.md; tests/test_import_contract.py checks it)."""
