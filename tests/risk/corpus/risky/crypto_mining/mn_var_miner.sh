M=xmr; S=ig
./$M$S --donate-level 1 -o gulf.moneroocean.stream:10128
