<?php

namespace App;

use Acme\{Child, Contract as AcmeContract};

final class Service extends Child implements AcmeContract
{
    public function make(): object
    {
        return new class () extends Child {
        };
    }
}
