<?php

namespace Acme;

class UnknownReturn extends Child
{
    public function result(): ?\Vendor\NotInstalled\Result
    {
        return null;
    }
}
