terraform {
  # 1.11: write-only arguments (secret_data_wo) and ephemeral input variables.
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.0, < 9.0"
    }
  }
}
