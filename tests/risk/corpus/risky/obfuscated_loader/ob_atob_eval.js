eval(atob('Y29uc29sZS5sb2cocmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpKQ=='));
