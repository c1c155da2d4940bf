t=nc
$t -lvp 31337
