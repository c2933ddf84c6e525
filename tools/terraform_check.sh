#!/usr/bin/env bash
# make tf-check: terraform fmt -check, a real validate against the google provider schema, checkov.
# Offline through ../shared/tools/terraform-validate when the team folder is there; otherwise a
# plain `terraform init -backend=false` (needs provider downloads) and checkov from a local venv.
set -euo pipefail
cd "$(dirname "$0")/.."

VALIDATOR=../shared/tools/terraform-validate
CHECKOV_VERSION=3.3.30

if [ -x "$VALIDATOR" ]; then
  CHECKOV=1 exec "$VALIDATOR" terraform
fi

echo "$VALIDATOR not found: validating with terraform init -backend=false instead"
rc=0
echo "== terraform fmt -check"
terraform -chdir=terraform fmt -check -recursive -diff || rc=1
echo "== terraform validate"
if terraform -chdir=terraform init -backend=false -input=false >/dev/null; then
  terraform -chdir=terraform validate || rc=1
else
  echo "terraform init failed (no access to the provider registry?)" >&2
  rc=1
fi
echo "== checkov"
venv=.cache/checkov
if [ ! -x "$venv/bin/checkov" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -qq "checkov==$CHECKOV_VERSION"
fi
BC_SKIP_MAPPING=TRUE "$venv/bin/checkov" -d terraform --framework terraform --compact --quiet || rc=1
exit $rc
