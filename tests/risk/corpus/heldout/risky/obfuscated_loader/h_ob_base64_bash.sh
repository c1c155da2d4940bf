base64 --decode <<< "aWQ7IHdob2FtaQ==" | bash
