#!/usr/bin/env bash
# After a change to the management API: regenerates docs/management-api.openapi.json from what the gateway serves
# at /openapi/v1.json (OpenApiDocumentTests writes it when CACHEPROXY_UPDATE_OPENAPI=1), then the clients generated
# from it with Kiota (the local tool in dotnet-tools.json): C# in src/CacheProxy.Management.Client/Generated and
# TypeScript in src/CacheProxy.Management.Client.TypeScript/src/generated.
# Each client records the document's SHA-256 it was made from; OpenApiDocumentTests fails until they match.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHEPROXY_UPDATE_OPENAPI=1 dotnet test tests/CacheProxy.Tests -c Release --nologo \
  --filter "FullyQualifiedName~OpenApiDocumentTests.TheServedDocument_IsTheCopyInDocs"
document=docs/management-api.openapi.json
hash=$(sha256sum "$document" | cut -d' ' -f1)
dotnet tool restore >/dev/null
export KIOTA_OFFLINE_ENABLED=true   # no update check: the generator is pinned in dotnet-tools.json
csharp=src/CacheProxy.Management.Client/Generated
dotnet kiota generate --language CSharp --openapi "$document" --output "$csharp" --namespace-name CacheProxy.Management.Client \
  --class-name CacheProxyManagementClient --exclude-backward-compatible --clean-output --log-level Warning
rm -f "$csharp/.kiota.log"   # its warnings were printed above
echo "$hash" > "$csharp/openapi.sha256"
typescript=src/CacheProxy.Management.Client.TypeScript/src/generated
dotnet kiota generate --language TypeScript --openapi "$document" --output "$typescript" \
  --class-name CacheProxyManagementClient --exclude-backward-compatible --clean-output --log-level Warning
rm -f "$typescript/.kiota.log"
echo "$hash" > "$typescript/openapi.sha256"
echo "docs/management-api.openapi.json and the C# and TypeScript clients regenerated ($hash)"
echo "New public API in the client: add it to src/CacheProxy.Management.Client/PublicAPI.Unshipped.txt (the build names it, RS0016)."
