-- Antivirus products registered with Windows Security Center and their signature state.
SELECT type, name, state, state_timestamp, remediation_path, signatures_up_to_date
FROM windows_security_products
WHERE type = 'Antivirus';
