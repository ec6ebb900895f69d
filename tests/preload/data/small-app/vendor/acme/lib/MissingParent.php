<?php

namespace Acme;

use Vendor\NotInstalled\AbstractThing;

class MissingParent extends AbstractThing
{
}
