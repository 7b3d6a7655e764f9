#!/usr/bin/env bash
# Regenerates docs/management-api.openapi.json from what the gateway serves at /openapi/v1.json on its management
# port (OpenApiDocumentTests writes it when CACHEPROXY_UPDATE_OPENAPI=1). Run it after changing the management API;
# the test fails until the copy matches again.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHEPROXY_UPDATE_OPENAPI=1 dotnet test tests/CacheProxy.Tests -c Release --nologo \
  --filter "FullyQualifiedName~OpenApiDocumentTests.TheServedDocument_IsTheCopyInDocs"
echo "docs/management-api.openapi.json updated"
