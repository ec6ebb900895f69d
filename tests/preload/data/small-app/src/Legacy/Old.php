<?php

namespace App\Legacy;

class Old extends \Vendor\NotInstalled\Gone
{
}
