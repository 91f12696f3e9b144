"""Lingering bank data: find resident ID, mobile and bank card numbers in files, masked."""
