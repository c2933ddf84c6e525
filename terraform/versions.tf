terraform {
  # 1.11: write-only arguments and ephemeral values; 1.9: validations that name other variables.
  required_version = ">= 1.11"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Exactly the release the module is validated against (../shared/tools/terraform-validate
      # checks it with the schema of hashicorp/google 8.7.0). Move it on purpose: raise the pin,
      # validate, read the upgrade guide, and refresh .terraform.lock.hcl in the same commit.
      version = "= 8.7.0"
    }
  }
}
