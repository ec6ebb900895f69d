<?php

namespace Acme;

class WithTrait extends MissingParent
{
    use Helpers;

    public function name(): string
    {
        return 'depends on a left-out class';
    }
}
