#!/usr/bin/env bash
# make deploy / make destroy: package the source, plan into a file, show the plan, ask, then
# apply exactly that plan. AUTO_APPROVE=1 skips the question (CI); terraform.tfvars or TF_VAR_*
# environment variables supply the inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

action=${1:-}
case "$action" in
  deploy) plan_args=() ;;
  destroy) plan_args=(-destroy) ;;
  *) echo "usage: tools/deploy.sh deploy|destroy" >&2; exit 2 ;;
esac

if [ ! -f terraform/terraform.tfvars ] && [ -z "${TF_VAR_project_id:-}" ]; then
  echo "terraform/terraform.tfvars is missing: copy terraform/terraform.tfvars.example and edit it." >&2
  exit 1
fi

python=.venv/bin/python
[ -x "$python" ] || python=python3
# Destroy needs the archive too: Terraform evaluates the object's content hash in every plan.
"$python" tools/package.py

tf() { terraform -chdir=terraform "$@"; }
plan=$action.tfplan
trap 'rm -f "terraform/$plan"' EXIT

tf init -input=false

# Secret values never pass through Terraform (terraform/secrets.tf): a function whose secret has
# no enabled version cannot start, so a deploy first makes sure each one has a value. Where a
# secret or its value is missing, it creates the empty secrets alone and says which commands add
# the values; the next `make deploy` then goes on.
secrets_without_value() {
  local project ids id
  project=$(echo 'var.project_id' | tf console | tr -d '"')
  ids=$(echo 'join(" ", sort(values(local.secrets)))' | tf console | tr -d '"')
  for id in $ids; do
    if [ -z "$(gcloud secrets versions list "$id" --project="$project" --filter=state:ENABLED \
      --limit=1 --format='value(name)' 2>/dev/null)" ]; then
      echo "$id"
    fi
  done
}

if [ "$action" = deploy ]; then
  if ! command -v gcloud >/dev/null; then
    echo "gcloud not found: cannot check that every secret has a value (docs/deploy.md, step 5)." >&2
  else
    missing=$(secrets_without_value)
    if [ -n "$missing" ]; then
      echo "These secrets have no value yet, so the functions could not start:"
      printf '  %s\n' $missing
      echo "Creating the secrets alone first (no values; Terraform never holds them)."
      approve=()
      [ "${AUTO_APPROVE:-0}" = 1 ] && approve=(-auto-approve)
      tf apply -input=false "${approve[@]}" \
        -target=google_project_service.apis -target=google_secret_manager_secret.this
      echo
      echo "Now add each value, then run make deploy again:"
      for id in $missing; do
        echo "  printf %s \"\$VALUE\" | gcloud secrets versions add $id --data-file=-"
      done
      exit 1
    fi
  fi
fi

set +e
tf plan -input=false -detailed-exitcode -out="$plan" "${plan_args[@]}" >/dev/null
status=$?
set -e
case "$status" in
  0) echo "No changes to make."; exit 0 ;;
  2) ;;
  *) echo "terraform plan failed (see above)." >&2; exit "$status" ;;
esac

tf show "$plan"
if [ "${AUTO_APPROVE:-0}" != 1 ]; then
  read -r -p "$action: apply the plan above? Type yes to go on: " answer
  if [ "$answer" != yes ]; then
    echo "Cancelled; nothing was changed."
    exit 1
  fi
fi
tf apply -input=false "$plan"
if [ "$action" = deploy ]; then
  tf output
fi
