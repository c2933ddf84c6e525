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
