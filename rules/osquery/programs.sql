-- Installed programs (Windows), for the allow-list and mail clients.
SELECT name, version, publisher, install_date, identifying_number
FROM programs;
