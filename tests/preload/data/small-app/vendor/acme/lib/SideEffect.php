<?php

namespace Acme;

define('ACME_LOADED', true);

class SideEffect
{
}
