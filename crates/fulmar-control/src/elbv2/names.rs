//! Name rules shared by load balancers and target groups.

use fulmar_aws::AwsError;

/// ELBv2 names: 1–32 alphanumerics or hyphens, not starting or ending with a hyphen.
pub fn check_name(name: &str, what: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 32 {
        return Err(AwsError::validation(format!(
            "{what} name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AwsError::validation(format!(
            "{what} name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(AwsError::validation(format!(
            "{what} name '{name}' cannot begin or end with a hyphen"
        )));
    }
    Ok(())
}
