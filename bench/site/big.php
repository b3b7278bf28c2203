<?php
echo str_repeat('0123456789abcdef', 4096); // 64 KiB
